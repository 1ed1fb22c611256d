// Streams a job's progress (Server-Sent Events) into the job page.
const page = document.getElementById("job");
const log = document.getElementById("log"), status = document.getElementById("status"), result = document.getElementById("result");
const es = new EventSource("/jobs/" + page.dataset.job + "/events");
es.onmessage = e => { log.textContent += e.data + "\n"; log.scrollTop = log.scrollHeight; };
es.addEventListener("done", e => {
  es.close();
  const job = JSON.parse(e.data);
  status.textContent = job.status;
  status.className = job.status === "succeeded" ? "ok" : "error";
  const v = (job.violations || []).map(x => x.level + " " + x.policy + ": " + x.message.split("\n").pop());
  if (v.length) { const h = document.createElement("h3"); h.textContent = "Policies"; result.appendChild(h); }
  for (const line of v) { const p = document.createElement("p"); p.textContent = line; result.appendChild(p); }
  if (job.op === "preview" && job.status === "succeeded") document.getElementById("apply-form").hidden = false;
  if (job.op === "apply" && job.status === "succeeded" && job.outputs) {
    const a = document.createElement("a"); a.id = "endpoint"; a.href = job.outputs.endpoint; a.textContent = job.outputs.endpoint;
    const p = document.createElement("p"); p.append("Endpoint: ", a); result.appendChild(p);
  }
  if (job.error) { const p = document.createElement("p"); p.className = "error"; p.textContent = job.error; result.appendChild(p); }
});
