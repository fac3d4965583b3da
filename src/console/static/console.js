// The console's only script, two small things; every page works without it.
//
// 1. An integration's Overview tab follows a running sync over its server-sent events: each
//    step is written as text, and when the run ends its state goes into the section's
//    `data-state` and into its row of the runs table, and a link to the full results shows.
// 2. A link with `data-opens="ID"` (Delete integration) opens the <dialog> ID instead of going
//    to its confirmation page: the dialog takes the focus, Escape or Cancel closes it.
"use strict";

function followRun() {
  const live = document.getElementById("live");
  if (!live || !live.dataset.events || !window.EventSource) return;
  const progress = live.querySelector("[data-progress]");
  const heading = live.querySelector("h2");
  const done = live.querySelector("[data-done]");
  const source = new EventSource(live.dataset.events);
  source.addEventListener("progress", (event) => {
    progress.textContent = event.data;
  });
  source.addEventListener("finished", (event) => {
    source.close();
    // The line starts with the run's state ("succeeded", "failed · why", …).
    const state = event.data.split(/[\s:·]/)[0];
    progress.textContent = event.data;
    heading.textContent = "Sync finished";
    live.dataset.state = state;
    const cell = live.dataset.run
      ? document.querySelector(`tr[data-run="${CSS.escape(live.dataset.run)}"] .state`)
      : null;
    if (cell) {
      cell.textContent = state;
      cell.dataset.state = state;
    }
    if (done) done.hidden = false;
  });
}

function openDialogs() {
  for (const opener of document.querySelectorAll("[data-opens]")) {
    const dialog = document.getElementById(opener.dataset.opens);
    if (!dialog || typeof dialog.showModal !== "function") continue;
    opener.addEventListener("click", (event) => {
      event.preventDefault();
      dialog.showModal();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  followRun();
  openDialogs();
});
