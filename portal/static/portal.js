// The portal's only script. Every page reads fully without it; it adds
// copy buttons and streams a running job's progress (Server-Sent Events).
"use strict";

// Copy buttons beside read-only values (the values stay selectable without it).
for (const button of document.querySelectorAll("button.copy")) {
  const field = document.getElementById(button.dataset.copy);
  if (!field) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
}

// A running job: move the progress bar, the counts by operation, the step
// running now and the log as the events arrive; when the job ends, load the
// page again, which the server renders finished (changes, findings, cards).
const job = document.getElementById("job");
if (job && job.dataset.status === "running") {
  const $ = id => document.getElementById(id);
  const log = $("log"), bar = $("progress"), elapsed = $("elapsed");
  let seconds = Number(elapsed.dataset.seconds) || 0;
  const clock = n => n < 60 ? n + " s" : n < 3600 ? Math.floor(n / 60) + " min " + String(n % 60).padStart(2, "0") + " s"
    : Math.floor(n / 3600) + " h " + String(Math.floor(n % 3600 / 60)).padStart(2, "0") + " min";
  const timer = setInterval(() => { elapsed.textContent = clock(++seconds); }, 1000);
  const show = p => {
    if (p.total > 0) { bar.max = p.total; bar.value = p.done; } else { bar.removeAttribute("value"); }
    $("percent").textContent = p.percent + " %";
    $("done").textContent = p.done;
    $("total").textContent = p.total;
    const est = $("estimated");
    if (est) est.hidden = !p.estimated;
    const ops = $("ops");
    ops.replaceChildren(...p.ops.map(o => {
      const li = document.createElement("li"), b = document.createElement("b"), span = document.createElement("span");
      li.className = "op op-" + o.op;
      b.textContent = o.label;
      span.textContent = o.done + " / " + o.total;
      li.append(b, " ", span);
      return li;
    }));
    $("current").textContent = p.current ? "Now: " + p.current : "";
    seconds = p.elapsedSeconds;
  };
  const stream = new EventSource("/jobs/" + job.dataset.job + "/events");
  let fresh = true; // the stream starts from the first line: replace the server's copy
  stream.onmessage = e => {
    if (fresh) { log.textContent = ""; fresh = false; }
    log.textContent += e.data + "\n";
  };
  stream.addEventListener("progress", e => show(JSON.parse(e.data)));
  stream.addEventListener("done", () => {
    stream.close();
    clearInterval(timer);
    location.reload();
  });
}
