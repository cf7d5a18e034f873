/* Rosters: the import page (send the file as the body, poll its progress, show the preview
 * with its refused rows, confirm into a group) and a group's page (rename, add, remove and
 * move numbers, delete). Every request is JSON or the file itself, with the session. */
(function () {
  "use strict";
  const S = JSON.parse(document.getElementById("roster-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fmt = (text, fields) => text.replace(/\{(\w+)\}/g, (m, k) => (k in fields ? String(fields[k]) : m));

  async function call(method, url, body, raw) {
    const headers = { Accept: "application/json" };
    let payload = body;
    if (!raw && body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    if (raw) headers["Content-Type"] = "application/octet-stream";
    const r = await fetch(url, { method, credentials: "same-origin", headers, body: payload });
    return r.json();
  }

  function cell(tag, text) {
    const c = document.createElement(tag);
    c.textContent = text;
    return c;
  }

  /* ---- the import page ---- */
  const form = $("upload-form");
  if (form) {
    const bar = document.querySelector("#progress [role=progressbar]");
    const fill = document.querySelector("#progress .progress-fill");
    const errorBox = $("upload-error");
    let current = null;

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      $("progress").hidden = true;
    }

    function progress(text, done, total) {
      $("progress").hidden = false;
      const pct = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
      bar.setAttribute("aria-valuenow", String(pct));
      bar.setAttribute("aria-valuetext", text);
      fill.style.width = pct + "%";
      $("progress-text").textContent = text;
    }

    function showPreview(p) {
      $("preview").hidden = false;
      $("accepted-text").textContent = fmt(S.accepted, { n: p.accepted });
      // The rows taken (row, name, group: the numbers never come back from the server).
      const sampleBox = $("sample-box");
      const sampleBody = sampleBox.querySelector("tbody");
      sampleBody.replaceChildren();
      sampleBox.hidden = p.sample.length === 0;
      $("sample-text").textContent = fmt(S.sample, { n: p.sample.length });
      for (const r of p.sample) {
        const tr = document.createElement("tr");
        tr.append(cell("td", String(r.line)), cell("td", r.name || S.no_name), cell("td", r.group || S.no_group));
        sampleBody.append(tr);
      }
      const moreTaken = p.accepted - p.sample.length;
      $("more-sample").textContent = moreTaken > 0 ? fmt(S.more_sample, { n: moreTaken }) : "";
      const groupsBox = $("file-groups-box");
      const groupList = $("file-groups");
      groupList.replaceChildren();
      groupsBox.hidden = p.groups.length === 0;
      $("file-groups-text").textContent = S.file_groups;
      for (const g of p.groups) groupList.append(cell("li", fmt(S.file_group, { name: g.name, n: g.count })));
      const box = $("refused-box");
      const body = box.querySelector("tbody");
      body.replaceChildren();
      box.hidden = p.refused_count === 0;
      $("refused-text").textContent = fmt(S.refused, { n: p.refused_count });
      for (const r of p.refused) {
        const tr = document.createElement("tr");
        tr.append(cell("td", String(r.line)), cell("td", r.cell), cell("td", r.name || S.no_name), cell("td", r.why));
        body.append(tr);
      }
      const more = p.refused_count - p.refused.length;
      $("more-refused").textContent = more > 0 ? fmt(S.more_refused, { n: more }) : "";
      const byColumn = document.querySelector("[data-by-column]");
      byColumn.hidden = !p.columns.group;
      if (p.columns.group) $("into-column").checked = true;
    }

    function showResult(result) {
      $("preview").hidden = true;
      $("result").hidden = false;
      $("result-text").textContent = S.done;
      const list = $("result-list");
      list.replaceChildren();
      for (const g of result.groups) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = "/host/rosters/" + encodeURIComponent(g.id);
        a.textContent = fmt(S.added, { name: g.name, added: g.added });
        li.append(a);
        list.append(li);
      }
    }

    async function follow(id) {
      current = id;
      for (;;) {
        let answer;
        try { answer = await call("GET", "/api/rosters/uploads/" + encodeURIComponent(id)); }
        catch (e) { showError(S.failed); return; }
        if (current !== id) return;
        if (!answer.ok) { showError(answer.error.message); return; }
        const u = answer.upload;
        if (u.state === "failed") { showError(u.error.message); return; }
        if (u.state === "ready") {
          progress(fmt(S.parsing, { done: u.done, total: u.total || u.done }), 1, 1);
          $("progress").hidden = true;
          showPreview(u.preview);
          return;
        }
        if (u.state === "done") { progress(S.done, 1, 1); showResult(u.result); return; }
        if (u.state === "queued") progress(S.queued, 0, 0);
        else if (u.state === "parsing") {
          const text = u.total ? fmt(S.parsing, { done: u.done, total: u.total }) : fmt(S.parsing_rows, { done: u.done || 0 });
          progress(text, u.done, u.total || 0);
        }
        else if (u.state === "saving") progress(fmt(S.saving, { done: u.done, total: u.total }), u.done, u.total);
        await new Promise((r) => setTimeout(r, 400));
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      $("preview").hidden = true;
      $("result").hidden = true;
      const file = $("roster-file").files[0];
      if (!file) return;
      progress(S.uploading, 0, 0);
      let answer;
      try { answer = await call("POST", "/api/rosters/uploads?name=" + encodeURIComponent(file.name), file, true); }
      catch (e) { showError(S.failed); return; }
      if (!answer.ok) { showError(answer.error.message); return; }
      follow(answer.upload.id);
    });

    $("confirm-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      const f = new FormData(event.target);
      const into = f.get("into");
      const body = into === "existing" ? { group: f.get("group") }
        : into === "column" ? { by_column: true } : { name: String(f.get("name") || "") };
      if (into === "column" && f.get("name")) body.name = String(f.get("name"));
      let answer;
      try { answer = await call("POST", "/api/rosters/uploads/" + encodeURIComponent(current) + "/confirm", body); }
      catch (e) { showError(S.failed); return; }
      if (!answer.ok) { showError(answer.error.message); return; }
      $("preview").hidden = true;
      follow(current);
    });
  }

  /* ---- a group's page ---- */
  const group = $("group");
  if (group) {
    const id = group.dataset.group;
    const base = "/api/rosters/" + encodeURIComponent(id);
    const status = $("group-status");
    const errorBox = $("group-error");

    async function act(method, url, body, done) {
      errorBox.hidden = true;
      status.textContent = "";
      let answer;
      try { answer = await call(method, url, body); }
      catch (e) { errorBox.textContent = S.failed; errorBox.hidden = false; return null; }
      if (!answer.ok) { errorBox.textContent = answer.error.message; errorBox.hidden = false; return null; }
      status.textContent = done;
      return answer;
    }

    $("rename-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await act("PATCH", base, { name: $("rename").value }, S.renamed);
      if (answer) $("group-name").textContent = answer.group.name;
    });
    $("add-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { phone: $("add-phone").value };
      if ($("add-name").value) body.name = $("add-name").value;
      if (await act("POST", base + "/members", body, S.member_added)) window.location.reload();
    });
    // The group's size as the server counts it after a number left it.
    const plural = new Intl.PluralRules(document.documentElement.lang || undefined);
    function showSize(size) {
      $("group-size").textContent = fmt(plural.select(size) === "one" ? S.size_one : S.size_other, { n: size });
    }
    group.addEventListener("click", async (event) => {
      const li = event.target.closest("[data-member]");
      if (!li) return;
      let answer = null;
      if (event.target.matches("[data-remove]")) {
        answer = await act("POST", base + "/members/remove", { member: li.dataset.member }, S.removed);
      } else if (event.target.matches("[data-move]")) {
        const to = li.querySelector("[data-move-to]").value;
        answer = await act("POST", base + "/members/move", { member: li.dataset.member, to }, S.moved);
      }
      if (answer) {
        li.remove();
        showSize(answer.group.size);
      }
    });
    $("delete-group").addEventListener("click", () => { $("delete-sure").hidden = false; $("delete-yes").focus(); });
    $("delete-yes").addEventListener("click", async () => {
      if (await act("DELETE", base, undefined, S.deleted)) window.location.assign("/host/rosters");
    });
  }
})();
