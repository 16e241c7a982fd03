// Asks before destructive form posts marked with data-confirm. Loaded from our own origin so the
// Content-Security-Policy needs no 'unsafe-inline'; the pages work without it too.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
