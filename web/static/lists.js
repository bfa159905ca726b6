// Shaped lists (groupware.lists): a box in the header chooses every row of the page for
// a bulk action. The lists work without this script (each row has its own box).
(function () {
  "use strict";
  if (window.gwLists) return; // loaded again by a page htmx swapped in
  window.gwLists = true;

  function showPickAll(root) {
    root.querySelectorAll("input.pick-all[hidden]").forEach(function (box) {
      box.hidden = false;
    });
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input.pick-all")) return;
    var table = box.closest("table");
    table.querySelectorAll("tbody input[name=ids]").forEach(function (row) {
      row.checked = box.checked;
    });
  });
  document.addEventListener("DOMContentLoaded", function () { showPickAll(document); });
  document.addEventListener("htmx:load", function (event) { showPickAll(event.target); });
  showPickAll(document);
})();
