// hallmark's verification page: send each chosen or dropped file to POST /v1/verify and show
// its report.  Every string from the server (which quotes the image's own metadata) is inserted
// as text, never as HTML.
"use strict";

const GOOD = new Set(["hallmark-signed", "hallmark-recovered"]);
const BAD = new Set(["tampered", "invalid-credentials", "watermark-mismatch", "unreadable-credentials"]);
// Valid credentials from a signer not on the trust lists: not broken, not confirmed either.
const CAUTION = new Set(["untrusted-signer"]);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function verdictClass(verdict) {
  if (GOOD.has(verdict)) return "verdict good";
  if (BAD.has(verdict)) return "verdict bad";
  if (CAUTION.has(verdict)) return "verdict caution";
  if (verdict === "error") return "verdict error";
  return "verdict info";
}

// A link that asks the server for the HTML report of the same image (verified again: the
// server keeps nothing) and saves it.
function reportLink(source, name) {
  const p = el("p", null, "download");
  const link = el("a", "Download the HTML report");
  link.href = "#";
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    link.textContent = "Preparing the HTML report…";
    try {
      const response = await fetch("/v1/verify/report", requestFor(source));
      if (!response.ok) throw new Error("the server answered " + response.status);
      const url = URL.createObjectURL(await response.blob());
      const save = el("a");
      save.href = url;
      save.download = "hallmark-report-" + String(name).replace(/[^A-Za-z0-9._-]+/g, "_") + ".html";
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      link.textContent = "Download the HTML report";
    } catch (error) {
      link.textContent = "Download the HTML report (failed: " + error.message + ")";
    }
  });
  p.append(link);
  return p;
}

// A file is sent as a multipart form, a URL as {"url": ...}.
function requestFor(source) {
  if (typeof source === "string") {
    return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: source }) };
  }
  const form = new FormData();
  form.append("file", source, source.name);
  return { method: "POST", body: form };
}

function renderReport(file, report, source) {
  const section = el("section", null, "report");
  section.dataset.verdict = report.verdict;
  if (file && file.type.startsWith("image/")) {
    const img = el("img");
    img.alt = "";
    img.src = URL.createObjectURL(file);
    img.addEventListener("load", () => URL.revokeObjectURL(img.src));
    section.append(img);
  }
  const title = el("h2", report.source + ": ");
  title.append(el("span", report.verdict, verdictClass(report.verdict)));
  section.append(title, el("p", report.explanation, "explanation"));
  const signature = credentialsLine(report.c2pa);
  if (signature) section.append(signature);
  for (const warning of report.warnings || []) section.append(el("p", "Warning: " + warning, "warning"));
  if (report.record && report.record.record_id) {
    const p = el("p", "Audit record: ");
    const link = el("a", report.record.record_id);
    link.href = "/v1/records/" + encodeURIComponent(report.record.record_id) + "/proof";
    p.append(link, " (inclusion proof)");
    section.append(p);
  }
  if (report.checks && report.checks.length) {
    const wrap = el("div", null, "table-wrap");
    const table = el("table");
    table.append(el("caption", "Checks"));
    const head = el("tr");
    for (const name of ["check", "status", "summary"]) {
      const th = el("th", name);
      th.scope = "col";
      head.append(th);
    }
    table.append(head);
    for (const check of report.checks) {
      const row = el("tr");
      const codes = check.codes && check.codes.length ? " (" + check.codes.join(", ") + ")" : "";
      row.append(el("td", check.name), el("td", check.status.replace("_", " "), check.status), el("td", check.summary + codes));
      table.append(row);
    }
    wrap.append(table);
    section.append(wrap);
  }
  if (source) section.append(reportLink(source, report.source));
  const duties = (report.compliance || []).map((row) => row.profile + ": " + row.duty + " " + String(row.state).replace(/_/g, " "));
  if (duties.length) section.append(el("p", "Labelling duties: " + duties.join("; ")));
  return section;
}

// "Valid but untrusted" and "invalid" are different answers: say which one the signature gave.
function credentialsLine(c2pa) {
  if (!c2pa || !c2pa.present) return null;
  let text, className;
  if (c2pa.state === "Trusted") {
    [text, className] = ["signature valid, signer trusted", "trusted"];
  } else if (c2pa.state === "Valid") {
    [text, className] = ["signature valid, but the signer is not on your trust list", "untrusted"];
  } else if (c2pa.state === "Invalid") {
    [text, className] = ["invalid (" + (c2pa.failure_codes || []).join(", ") + ")", "invalid"];
  } else {
    [text, className] = [String(c2pa.state), "unreadable"];
  }
  const p = el("p", "Content Credentials: ", "credentials");
  p.append(el("strong", text, className));
  p.dataset.state = className;
  return p;
}

async function verifyOne(source) {
  const response = await fetch("/v1/verify", requestFor(source));
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new Error("the server answered " + response.status + " without JSON");
  }
  if (body.reports) return body.reports[0];
  throw new Error(body.error ? body.error.message : "the server answered " + response.status);
}

async function verifyAll(files) {
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  results.replaceChildren();
  let done = 0;
  for (const file of files) {
    status.textContent = "Verifying " + file.name + " (" + (done + 1) + " of " + files.length + ")…";
    try {
      results.append(renderReport(file, await verifyOne(file), file));
    } catch (error) {
      const section = el("section", null, "report");
      section.dataset.verdict = "error";
      section.append(el("h2", file.name), el("p", "Not verified: " + error.message, "warning"));
      results.append(section);
    }
    done += 1;
  }
  status.textContent = "Verified " + done + " of " + files.length + (files.length === 1 ? " image." : " images.");
}

async function verifyUrl(url) {
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  results.replaceChildren();
  status.textContent = "Fetching and verifying " + url + "…";
  try {
    results.append(renderReport(null, await verifyOne(url), url));
  } catch (error) {
    const section = el("section", null, "report");
    section.dataset.verdict = "error";
    section.append(el("h2", url), el("p", "Not verified: " + error.message, "warning"));
    results.append(section);
  }
  status.textContent = "Verified 1 of 1 URL.";
}

// What this server does with images: it says so in /v1/health.
async function showServerSettings() {
  try {
    const health = await (await fetch("/v1/health")).json();
    if (health.keeps_uploads) {
      document.getElementById("keeping").textContent = "Images are checked on this server, which keeps a copy of each.";
    }
    document.getElementById("url-form").hidden = !health.fetches_urls;
  } catch (error) {
    // The page still verifies files; only the URL form stays hidden.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  showServerSettings();
  const urlForm = document.getElementById("url-form");
  urlForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const url = document.getElementById("url").value.trim();
    if (url) verifyUrl(url);
  });
  const form = document.getElementById("verify-form");
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  document.getElementById("origin").textContent = window.location.origin;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.files.length) verifyAll(Array.from(input.files));
  });
  input.addEventListener("change", () => {
    if (input.files.length) verifyAll(Array.from(input.files));
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = Array.from(event.dataTransfer.files);
    if (files.length) verifyAll(files);
  });
});
