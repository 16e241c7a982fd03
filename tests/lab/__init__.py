"""The network-namespace lab: helpers (``netns``) and the topologies built on them."""
