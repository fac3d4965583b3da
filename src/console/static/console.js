// The console's only script: follows a running sync on an integration's Overview tab (its
// server-sent events), writing each step as text, and reloads the page when the run ends so the
// runs table shows its outcome. Everything else works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (!live || !live.dataset.events || !window.EventSource) return;
  const progress = live.querySelector("[data-progress]");
  const source = new EventSource(live.dataset.events);
  source.addEventListener("progress", (event) => {
    progress.textContent = event.data;
  });
  source.addEventListener("finished", (event) => {
    source.close();
    progress.textContent = event.data;
    window.location.reload();
  });
});
