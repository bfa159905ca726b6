// The deal form: the type list offers only the types of the chosen direction (a sale
// type for a sale), and follows a change of direction at once. Each option carries its
// type's direction (empty: either); the server renders the same choice for the
// direction it shows and still refuses a type of the other direction.
(function () {
  "use strict";
  // htmx-boosted navigation runs the script again on every visit of the form.
  if (window.groupwareFollowsDirection) return;
  window.groupwareFollowsDirection = true;

  // On a change of direction a chosen type of the other direction is unchosen; when the
  // page is shown, it stays visible beside the server's error, as the server shows it.
  function follow(direction, changed) {
    var lists = document.querySelectorAll('select[data-follows="' + direction.id + '"]');
    Array.prototype.forEach.call(lists, function (list) {
      Array.prototype.forEach.call(list.options, function (option) {
        var other = !!option.dataset.direction && option.dataset.direction !== direction.value;
        if (other && option.selected && changed) list.value = "";
        var hide = other && !option.selected;
        option.hidden = hide;
        option.disabled = hide;
      });
    });
  }

  function followAll() {
    document.querySelectorAll("select[data-follows]").forEach(function (list) {
      var direction = document.getElementById(list.dataset.follows);
      if (direction) follow(direction, false);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id && document.querySelector('select[data-follows="' + target.id + '"]')) {
      follow(target, true);
    }
  });
  // A browser may restore the form's earlier choices when the page is shown again.
  window.addEventListener("pageshow", followAll);
  document.addEventListener("htmx:load", followAll);
})();
