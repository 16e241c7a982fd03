"""Alert notifications: who is on call (`rota`), which severity goes where (`rules`), the routing
of each alert's opening, clearing and reminders into an outbox in the store (`router`), the
periodic digest (`digest`), what the messages say in each language (`messages`), the channels
(`channels`: e-mail, webhook, SMS) and the worker that sends what the outbox holds (`worker`).

Every decision is written in the store before anything is sent: a relay that is down keeps the
message in the outbox to be retried, and one decision per alert and phase means nothing is routed
twice, whatever process or restart routes it.
"""
