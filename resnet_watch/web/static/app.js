// resnet-watch web UI: the only script (the CSP allows no inline ones). Everything works
// without it; it adds drag-and-drop, one request per photo with progress, and a gentle
// refresh of the status page.
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (form) {
    const input = document.getElementById("files");
    const list = document.getElementById("progress");
    const csrf = form.dataset.csrf;

    const uploadOne = async (file) => {
      const li = document.createElement("li");
      li.textContent = file.name + ": uploading…";
      list.appendChild(li);
      const body = new FormData();
      body.append("csrf", csrf);
      body.append("files", file, file.name);
      try {
        const res = await fetch("/upload", {
          method: "POST",
          body: body,
          headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
          credentials: "same-origin",
        });
        const data = await res.json();
        if (!res.ok) {
          li.textContent = file.name + ": " + (data.error || res.statusText);
          li.className = "failed";
          return [];
        }
        li.textContent = file.name + ": uploaded";
        li.className = "done";
        return data.files.map((f) => f.ref);
      } catch (err) {
        li.textContent = file.name + ": " + err;
        li.className = "failed";
        return [];
      }
    };

    const uploadAll = async (files) => {
      list.textContent = "";
      const refs = [];
      for (const file of files) {
        refs.push(...(await uploadOne(file)));
      }
      if (refs.length) {
        const query = new URLSearchParams();
        refs.forEach((r) => query.append("f", r));
        window.location.assign("/uploaded?" + query.toString());
      }
    };

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (input.files.length) uploadAll(Array.from(input.files));
    });
    ["dragenter", "dragover"].forEach((name) =>
      form.addEventListener(name, (ev) => { ev.preventDefault(); form.classList.add("over"); }));
    ["dragleave", "drop"].forEach((name) =>
      form.addEventListener(name, (ev) => { ev.preventDefault(); form.classList.remove("over"); }));
    form.addEventListener("drop", (ev) => {
      if (ev.dataTransfer && ev.dataTransfer.files.length) uploadAll(Array.from(ev.dataTransfer.files));
    });
  }

  // Status page: reload the main section every few seconds unless the user is busy.
  const refresh = document.querySelector('meta[name="rw-refresh"]');
  if (refresh) {
    const seconds = Number(refresh.content) || 5;
    setInterval(async () => {
      if (document.hidden || document.activeElement && document.activeElement.tagName === "INPUT") return;
      try {
        const res = await fetch(window.location.href, { credentials: "same-origin" });
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const fresh = doc.querySelector("main");
        if (fresh) document.querySelector("main").replaceWith(fresh);
      } catch (err) { /* the daemon may be restarting; try again later */ }
    }, seconds * 1000);
  }
})();
