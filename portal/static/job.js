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
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };
  const finding = f => el("li", f.level + " " + f.policy + ": " + f.message, f.level === "mandatory" ? "error finding" : "finding");
  if (job.plan && job.plan.length) {
    result.appendChild(el("h3", "Changes by source"));
    for (const g of job.plan) {
      const sec = el("section", "", "plan");
      sec.appendChild(el("h4", (g.source || "shared by the stack") + ": " + g.steps.length + " change(s)" +
        (g.replacements ? ", " + g.replacements + " replacement(s) — endpoints may change, queues start empty" : "")));
      const ul = el("ul");
      for (const s of g.steps) {
        const li = el("li", s.op + " " + s.type + " " + s.name, s.op === "replace" ? "error" : "");
        if (s.findings && s.findings.length) { const fl = el("ul"); s.findings.forEach(f => fl.appendChild(finding(f))); li.appendChild(fl); }
        ul.appendChild(li);
      }
      (g.findings || []).forEach(f => ul.appendChild(finding(f)));
      sec.appendChild(ul);
      result.appendChild(sec);
    }
  }
  if (job.op === "preview" && (job.violations || []).some(v => v.level === "mandatory")) {
    result.appendChild(el("p", "Apply is unavailable: fix the mandatory findings above, then preview again.", "error"));
  }
  if (job.op === "preview" && job.status === "succeeded") document.getElementById("apply-form").hidden = false;
  if (job.op === "apply" && job.status === "succeeded" && job.outputs) {
    const a = document.createElement("a"); a.id = "endpoint"; a.href = job.outputs.endpoint; a.textContent = job.outputs.endpoint;
    const p = document.createElement("p"); p.append("Endpoint: ", a); result.appendChild(p);
  }
  if (job.error) { const p = document.createElement("p"); p.className = "error"; p.textContent = job.error; result.appendChild(p); }
});
