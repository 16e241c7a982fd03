// "Use my location" on the 940 report form: a progressive enhancement. Without script the
// visitor can still type coordinates (or leave them out); with it, the button asks the browser
// for its position (HTTPS only, and only if the visitor allows it) and fills the fields in.
// Pressing it is the visitor's choice to share a location: the form says so (share_location),
// and only then may a photo's own position stand in when the browser gives none.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  if (!button || !status || !("geolocation" in navigator)) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    document.getElementById("share-location").value = "1";
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("lon").value = position.coords.longitude.toFixed(6);
      document.getElementById("coordinates").open = true;
      status.textContent = button.dataset.located;
    }, function () {
      status.textContent = button.dataset.failed;
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
}());
