// The pipeline board. Every card has a menu whose buttons move the deal to another
// column (that works without this script); here: dragging a card onto a column, the
// left and right arrow keys on a focused card (both press the card's menu button for
// that column), focus back on a card after it moved, and folding columns, remembered
// in this browser.
(function () {
  "use strict";
  if (window.gwBoard) return; // loaded again by a page htmx swapped in
  window.gwBoard = true;
  var FOLDED = "gw.board.folded";
  var dragged = null;

  function moveTo(card, column) {
    if (!card || !column) return;
    var button = card.querySelector("form.move button[value='" + column.dataset.step + "']");
    // A click (not requestSubmit): htmx sends the value of the button clicked last.
    if (button) button.click();
  }

  function folded() {
    try {
      return JSON.parse(window.localStorage.getItem(FOLDED) || "[]");
    } catch (error) {
      return [];
    }
  }

  function setFolded(column, fold) {
    column.classList.toggle("folded", fold);
    var button = column.querySelector("button.fold");
    if (button) button.setAttribute("aria-expanded", fold ? "false" : "true");
  }

  function prepare(root) {
    var board = root.querySelector ? root.querySelector(".board") : null;
    if (!board && root.classList && root.classList.contains("board")) board = root;
    if (!board) return;
    var shut = folded();
    board.querySelectorAll(".column").forEach(function (column) {
      var button = column.querySelector("button.fold");
      if (button) button.hidden = false;
      setFolded(column, shut.indexOf(column.dataset.step) >= 0);
    });
    var moved = board.querySelector(".deal-card[data-focus]");
    if (moved) moved.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".board button.fold");
    if (!button) return;
    var column = button.closest(".column");
    var fold = !column.classList.contains("folded");
    setFolded(column, fold);
    var shut = folded().filter(function (step) { return step !== column.dataset.step; });
    if (fold) shut.push(column.dataset.step);
    try {
      window.localStorage.setItem(FOLDED, JSON.stringify(shut));
    } catch (error) { /* a browser without storage folds for this page only */ }
  });

  document.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("deal-card")) return;
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var column = card.closest(".column");
    var next = event.key === "ArrowRight" ? column.nextElementSibling : column.previousElementSibling;
    if (!next || !next.classList.contains("column")) return;
    event.preventDefault();
    moveTo(card, next);
  });

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
    var card = dragged;
    dragged = null;
    if (card.closest(".column") !== column) moveTo(card, column);
  });

  document.addEventListener("htmx:load", function (event) { prepare(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { prepare(document); });
  } else {
    prepare(document);
  }
})();
