// sym: live countdowns to each access deadline. The page works without
// this script; it only keeps the "time left" current.
(function () {
  function left(ms) {
    if (ms <= 0) return "ending now";
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s left";
  }
  function tick() {
    var els = document.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < els.length; i++) {
      var d = Date.parse(els[i].getAttribute("data-deadline"));
      if (!isNaN(d)) els[i].textContent = left(d - Date.now());
    }
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
