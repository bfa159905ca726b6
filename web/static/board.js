// The pipeline board: drag a card onto a column to move the deal there. It submits the
// card's own "Move" form (which works without this script, and by keyboard).
(function () {
  "use strict";
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });
  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board .column");
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board .column");
    if (column) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board .column");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var form = dragged.querySelector("form.move");
    dragged = null;
    if (!form || form.querySelector("select").value === column.dataset.step) return;
    form.querySelector("select").value = column.dataset.step;
    form.requestSubmit();
  });
})();
