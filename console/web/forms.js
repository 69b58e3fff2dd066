// Forms whose fields are named by the API's field paths ("support.email",
// "legal.address.city"): an error the API names lands beside that field; one
// it does not name lands at the top of the form. Every field has a label, and
// its help and error are tied to it (aria-describedby).
import {h, uid, clear, announce} from './dom.js';
import {t} from './i18n.js';

// field({label, name, type, value, required, maxlength, help, options: [[value, label]], rows})
export function field(spec) {
  const id = uid('f');
  const errorId = `${id}-error`;
  const helpId = spec.help ? `${id}-help` : null;
  const common = {
    id,
    name: spec.name,
    dataset: {field: spec.name},
    required: spec.required || undefined,
    'aria-describedby': [helpId, errorId].filter(Boolean).join(' '),
    autocomplete: spec.autocomplete,
    disabled: spec.disabled,
  };
  let input;
  if (spec.options) {
    input = h('select', common,
      spec.options.map(([value, label]) => h('option', {value, selected: String(value) === String(spec.value ?? '')}, label)));
  } else if (spec.type === 'textarea') {
    input = h('textarea', {...common, rows: spec.rows || 4, maxlength: spec.maxlength});
    input.value = spec.value ?? '';
  } else if (spec.type === 'checkbox') {
    input = h('input', {...common, type: 'checkbox', checked: !!spec.value});
  } else {
    input = h('input', {...common, type: spec.type || 'text', maxlength: spec.maxlength, min: spec.min, max: spec.max,
      step: spec.step, placeholder: spec.placeholder, pattern: spec.pattern, inputmode: spec.inputmode});
    input.value = spec.value ?? '';
  }
  const wrapper = h('div', {class: spec.type === 'checkbox' ? 'field field-check' : 'field'},
    spec.type === 'checkbox' ? [input, h('label', {for: id}, spec.label)] : [h('label', {for: id}, spec.label), input],
    spec.help ? h('p', {class: 'field-help', id: helpId}, spec.help) : null,
    h('p', {class: 'field-error', id: errorId, hidden: true}));
  wrapper.input = input;
  return wrapper;
}

// A form: children, a submit button, and a form-level message area.
// onsubmit(form) is async; its error (an ApiError) is shown; its return value,
// if a string, is announced as success.
export function form({submitLabel, onsubmit, class: cls, danger}, ...children) {
  const status = h('div', {class: 'form-status', role: 'status', 'aria-live': 'polite'});
  const alert = h('div', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {type: 'submit', class: danger ? 'danger' : 'primary'}, submitLabel || t('app.save'));
  const el = h('form', {class: cls || 'stack', novalidate: true}, alert, children, h('div', {class: 'actions'}, submit, status));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(el);
    status.textContent = '';
    submit.disabled = true;
    try {
      const message = await onsubmit(el);
      if (typeof message === 'string') {
        status.textContent = message;
        announce(message);
      }
    } catch (err) {
      showError(el, err);
    } finally {
      submit.disabled = false;
    }
  });
  el.statusArea = status;
  return el;
}

export function clearErrors(formEl) {
  for (const p of formEl.querySelectorAll('.field-error')) {
    p.textContent = '';
    p.hidden = true;
  }
  for (const input of formEl.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const alert = formEl.querySelector('.form-error');
  if (alert) {
    alert.textContent = '';
    alert.hidden = true;
  }
}

// The input the API's field path names: the exact one, else the nearest
// (a field "legal.address" lands on the first of legal.address.*; "rows[2].x"
// on "rows").
function inputFor(formEl, path) {
  const inputs = [...formEl.querySelectorAll('[data-field]')];
  const exact = inputs.find((i) => i.dataset.field === path);
  if (exact) return exact;
  const under = inputs.find((i) => i.dataset.field.startsWith(path + '.'));
  if (under) return under;
  let best = null;
  for (const i of inputs) {
    const f = i.dataset.field;
    if ((path.startsWith(f + '.') || path.startsWith(f + '[')) && (!best || f.length > best.dataset.field.length)) best = i;
  }
  return best;
}

export function showError(formEl, err) {
  const message = err && err.message ? err.message : String(err);
  const input = err && err.field ? inputFor(formEl, err.field) : null;
  if (input) {
    const slot = document.getElementById(`${input.id}-error`);
    input.setAttribute('aria-invalid', 'true');
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
    }
    input.focus();
    announce(message);
    return;
  }
  const alert = formEl.querySelector('.form-error');
  if (alert) {
    alert.textContent = err && err.field ? `${err.field}: ${message}` : message;
    alert.hidden = false;
  }
}

// The form's named fields as nested JSON ("support.email" -> {support: {email}}).
// Checkboxes are booleans; fields with data-list="1" are split into lists by line.
export function values(formEl) {
  const out = {};
  for (const input of formEl.querySelectorAll('[data-field]')) {
    if (input.disabled || input.dataset.skip) continue;
    let value = input.type === 'checkbox' ? input.checked : input.value;
    if (input.dataset.list) value = input.value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (input.dataset.number) value = input.value === '' ? null : Number(input.value);
    const path = input.dataset.field.split('.');
    let node = out;
    for (const key of path.slice(0, -1)) node = node[key] = node[key] || {};
    node[path[path.length - 1]] = value;
  }
  return out;
}

// An error the console finds itself (before asking the API), shown beside the
// field `name` as showError shows the API's.
export function fieldError(message, name) {
  const err = new Error(message);
  err.field = name;
  return err;
}

// A message box for a page-level error (a failed read).
export function errorBox(err) {
  return h('div', {class: 'form-error', role: 'alert'}, err && err.message ? err.message : String(err));
}

export function section(title, ...children) {
  const id = uid('s');
  return h('section', {class: 'card', 'aria-labelledby': id}, h('h2', {id}, title), children);
}

export function emptyInto(el, ...children) {
  clear(el);
  for (const c of children) if (c) el.appendChild(c);
  return el;
}
