// Socle portal: progressive enhancement only. Every page works without this script.
(function () {
  'use strict';
  // Search as you type: the catalog form's results are fetched as a fragment and swapped in.
  var form = document.querySelector('form[data-live]');
  if (form && window.fetch) {
    var target = document.getElementById(form.getAttribute('data-live'));
    var timer = null, seq = 0, asked = null;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      params.delete('page');
      var url = form.getAttribute('action') + '?' + params.toString();
      // The box's `change` (it fires when the box loses focus, e.g. on a click on a result)
      // asks again only if the search changed: a second fetch landing while the browser
      // follows the clicked link would swap the list under the click and rewrite the address.
      if (url === asked) return;
      asked = url;
      var mine = ++seq;
      fetch(url + '&fragment=1', { headers: { 'Accept': 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (mine !== seq) return;
          if (html === null) { asked = null; return; }
          target.innerHTML = html;
          history.replaceState(null, '', url);
        });
    };
    form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(run, 120); });
    form.addEventListener('change', function () { clearTimeout(timer); run(); });
  }
  // Multi-page golden-path forms: one page at a time, with Next / Back.
  document.querySelectorAll('form[data-pages]').forEach(function (f) {
    var pages = f.querySelectorAll('fieldset.form-page');
    if (pages.length < 2 || f.querySelector('[aria-invalid=true]')) return;
    var i = 0;
    var nav = document.createElement('div'); nav.className = 'pager';
    var back = document.createElement('button'); back.type = 'button'; back.textContent = 'Back'; back.className = 'secondary';
    var next = document.createElement('button'); next.type = 'button'; next.textContent = 'Next';
    var status = document.createElement('span'); status.setAttribute('aria-live', 'polite');
    nav.append(back, next, status);
    var submit = f.querySelector('[type=submit]');
    submit.parentNode.insertBefore(nav, submit);
    var show = function () {
      pages.forEach(function (p, k) { p.hidden = k !== i; });
      back.hidden = i === 0; next.hidden = i === pages.length - 1; submit.hidden = i !== pages.length - 1;
      status.textContent = 'Step ' + (i + 1) + ' of ' + pages.length;
    };
    next.addEventListener('click', function () {
      var bad = Array.prototype.find.call(pages[i].querySelectorAll('input,select,textarea'), function (el) { return !el.checkValidity(); });
      if (bad) { bad.reportValidity(); return; }
      i++; show(); var first = pages[i].querySelector('input,select,textarea'); if (first) first.focus();
    });
    back.addEventListener('click', function () { i--; show(); });
    show();
  });
})();
