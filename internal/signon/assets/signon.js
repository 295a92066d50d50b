// Gatehouse sign-on page: submits each form to the flow API with its
// action's media type, then reloads (the server renders the next step) or
// goes to resumeUrl. Errors from the API are said in words, next to the
// field they concern.
(function () {
  'use strict';
  var main = document.querySelector('main');
  if (!main) { return; }
  var flowURL = main.getAttribute('data-flow');
  var resumeURL = main.getAttribute('data-resume');
  var errorBox = document.getElementById('error');

  var labels = {
    username: 'username', password: 'password', currentPassword: 'current password', newPassword: 'new password',
    recoveryCode: 'recovery code', verificationCode: 'verification code', email: 'email address', userCode: 'code',
    otp: 'code'
  };
  var ruleWords = {
    length: 'the length', minCharacters: 'the required kinds of characters', maxRepeatedCharacters: 'no long runs of one character',
    minUniqueCharacters: 'enough different characters', excludesCommonlyUsed: 'not a commonly used password',
    excludesProfileData: 'not your name, username or email address', notSimilarToCurrent: 'not similar to your current password',
    history: 'not one of your recent passwords', minComplexity: 'more complexity'
  };

  function attempts(n) { return n + ' attempt' + (n === 1 ? '' : 's'); }

  function mediaType(action) { return 'application/vnd.pingidentity.' + action + '+json'; }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    errorBox.classList.remove('notice');
    Array.prototype.forEach.call(document.querySelectorAll('[aria-invalid]'), function (el) {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-errormessage');
    });
  }

  function showError(text, field) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-errormessage', 'error');
      field.focus();
      if (field.select) { field.select(); }
    } else {
      errorBox.focus();
    }
  }

  function showNotice(text) {
    errorBox.textContent = text;
    errorBox.classList.add('notice');
    errorBox.hidden = false;
    errorBox.focus();
  }

  function duration(secs) {
    if (secs < 60) { return secs + ' second' + (secs === 1 ? '' : 's'); }
    var m = Math.ceil(secs / 60);
    return m + ' minute' + (m === 1 ? '' : 's');
  }

  function fieldFor(form, target) {
    if (!target) { return null; }
    var el = form.querySelector('[name="' + target + '"]:not([type=hidden])');
    return el || null;
  }

  // describe turns a PingOne error body into a sentence.
  function describe(status, body) {
    var d = (body && body.details && body.details[0]) || {};
    var inner = d.innerError || {};
    if (status === 401) { return 'This sign-on belongs to another browser. Return to the application and sign on again.'; }
    switch (d.code) {
      case 'INVALID_CREDENTIALS':
        if (typeof inner.failuresRemaining === 'number') {
          return 'The username or password is incorrect. ' + inner.failuresRemaining + ' attempt' +
            (inner.failuresRemaining === 1 ? '' : 's') + ' left before your account is locked.';
        }
        return d.message === 'The user account is disabled.' ? 'This account is disabled. Contact your administrator.' : 'The username or password is incorrect.';
      case 'PASSWORD_LOCKED_OUT':
        return 'Too many failed attempts: your account is locked for ' + duration(inner.secondsUntilUnlock || 0) +
          '. Try again then, or reset your password.';
      // One-time passcodes (the MFA screens).
      case 'INVALID_OTP':
        if (inner.failuresRemaining === 0) {
          // The code is void: a sent one can be replaced.
          return document.getElementById('resend') ? 'That code is incorrect, and too many wrong codes were entered for it. Send a new code and enter it.' :
            'That code is incorrect, and no attempts are left. Try again in a few minutes, or start over.';
        }
        if (typeof inner.failuresRemaining === 'number') {
          return 'That code is incorrect. ' + attempts(inner.failuresRemaining) + ' left before verification is locked.';
        }
        return 'That code is incorrect. Check it and try again.';
      case 'OTP_EXPIRED':
        return document.getElementById('resend') ? 'That code has expired. Send a new code and enter it.' :
          'That code has expired. Enter the code your app shows now.';
      case 'LOCKED':
        // To the nearest minute: a 10-minute lock is counted from a
        // moment before the answer, so it can read 601 seconds.
        var secs = inner.secondsUntilUnlock || 0;
        return 'Too many incorrect codes: verification is locked for ' +
          (secs < 60 ? duration(secs) : duration(60 * Math.max(1, Math.round(secs / 60)))) + '. Try again then.';
      case 'ACCOUNT_LOCKED':
        return 'This account is locked. Contact your administrator.';
      case 'UNIQUENESS_VIOLATION':
        return 'That username is already taken. Choose another one.';
      case 'REQUIRED_VALUE':
        return 'Enter your ' + (labels[d.target] || d.target) + '.';
      case 'SIZE_LIMIT_EXCEEDED':
        return 'The ' + (labels[d.target] || d.target) + ' is too long.';
      case 'INVALID_VALUE':
        if (inner.unsatisfiedRequirements && inner.unsatisfiedRequirements.length) {
          return 'The password does not meet these rules: ' + inner.unsatisfiedRequirements.map(function (r) {
            return ruleWords[r] || r;
          }).join('; ') + '.';
        }
        if (d.target === 'currentPassword') { return 'Your current password is incorrect.'; }
        if (d.target === 'device.id') {
          // The server spaces the codes it sends, and bounds them.
          var wait = /Wait (\d+) seconds?/.exec(d.message || '');
          if (wait) { return 'We just sent a code. Wait ' + duration(parseInt(wait[1], 10)) + ' before you ask for another.'; }
          if (/^Too many/.test(d.message || '')) { return 'Too many codes were sent in this sign-on. Start over to get another.'; }
          return 'That device cannot be used now. Choose another one, or start over.';
        }
        if (d.message) {
          return d.message.replace(/(\d+) attempt\(s\) remain/, function (_, n) {
            return n + ' attempt' + (n === '1' ? '' : 's') + ' left';
          });
        }
        return 'Check the ' + (labels[d.target] || d.target) + '.';
    }
    if (body && body.code === 'SERVICE_UNAVAILABLE') { return 'We could not send the code. Try again in a moment.'; }
    if (body && body.code === 'REQUEST_FAILED') { return body.message; }
    return (d.message || (body && body.message)) || 'Something went wrong. Try again.';
  }

  // bodyOf is the form as the action's JSON; a dotted name nests
  // (device.id is {"device": {"id": …}}).
  function bodyOf(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.getAttribute('data-send') !== 'false') {
        var keys = el.name.split('.'), o = body;
        for (var i = 0; i < keys.length - 1; i++) { o = o[keys[i]] = o[keys[i]] || {}; }
        o[keys[keys.length - 1]] = el.getAttribute('data-type') === 'boolean' ? el.value === 'true' : el.value;
      }
    });
    return body;
  }

  // check finds what the server would refuse anyway, without a round trip.
  function check(form) {
    var missing = form.querySelector('input[required]:not([type=hidden])');
    var fields = form.querySelectorAll('input[required]:not([type=hidden])');
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].value) {
        missing = fields[i];
        showError('Enter your ' + (labels[missing.name] || missing.labels[0].textContent.toLowerCase()) + '.', missing);
        return false;
      }
    }
    var confirm = form.querySelector('[data-confirms]');
    if (confirm) {
      var other = document.getElementById(confirm.getAttribute('data-confirms'));
      if (other && other.value !== confirm.value) {
        showError('The passwords do not match.', confirm);
        return false;
      }
    }
    return true;
  }

  function busy(form, on) {
    var b = form.querySelector('button[type=submit]');
    if (b) { b.disabled = on; }
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function submit(ev) {
    var form = ev.target;
    var action = form.getAttribute('data-action');
    if (!action) { return; }
    ev.preventDefault();
    clearError();
    if (!check(form)) { return; }
    busy(form, true);
    fetch(flowURL, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': mediaType(action), 'Accept': 'application/json' },
      body: JSON.stringify(bodyOf(form))
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.ok) {
          if (body.status === 'COMPLETED') {
            window.location.assign(body.resumeUrl || resumeURL);
          } else if (form.getAttribute('data-notice') && body.status === main.getAttribute('data-status')) {
            busy(form, false);
            showNotice(form.getAttribute('data-notice'));
          } else {
            window.location.reload();
          }
          return;
        }
        if (resp.status === 404) {
          // The flow expired or ended: the server's page for it offers a
          // way to start again, which this page cannot.
          window.location.reload();
          return;
        }
        busy(form, false);
        var d = (body.details && body.details[0]) || {};
        showError(describe(resp.status, body), fieldFor(form, d.target));
      });
    }).catch(function () {
      busy(form, false);
      showError('The sign-on service could not be reached. Check your connection and try again.');
    });
  }

  // ---- password rules, checked as the user types

  function longestRun(s) {
    var best = 0, run = 0;
    for (var i = 0; i < s.length; i++) {
      run = (i > 0 && s[i] === s[i - 1]) ? run + 1 : 1;
      if (run > best) { best = run; }
    }
    return best;
  }

  function ruleOK(li, pw) {
    var n = function (a) { return parseInt(li.getAttribute(a), 10); };
    switch (li.getAttribute('data-rule')) {
      case 'length': return pw.length >= n('data-min') && pw.length <= n('data-max');
      case 'minCharacters':
        var set = li.getAttribute('data-set'), c = 0;
        for (var i = 0; i < pw.length; i++) { if (set.indexOf(pw[i]) >= 0) { c++; } }
        return c >= n('data-count');
      case 'maxRepeatedCharacters': return pw.length > 0 && longestRun(pw) <= n('data-max');
      case 'minUniqueCharacters': return new Set(pw.split('')).size >= n('data-min');
    }
    return null; // checked by the server only
  }

  function watchRules(input) {
    var items = document.querySelectorAll('#rules li');
    var status = document.getElementById('rules-status');
    input.addEventListener('input', function () {
      var met = 0, checkable = 0;
      Array.prototype.forEach.call(items, function (li) {
        var ok = ruleOK(li, input.value);
        if (ok === null) { return; }
        checkable++;
        if (ok) { met++; }
        li.setAttribute('data-ok', ok ? 'true' : 'false');
      });
      if (status) {
        status.textContent = met + ' of the ' + checkable + ' rules checked as you type are met; the others are checked when you submit.';
      }
    });
  }

  ['newPassword', 'regPassword'].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { watchRules(el); }
  });

  // ---- panels: forgot password, registration

  // A panel may stand in for the sign-on form (data-replaces): the page
  // then shows one task at a time.
  function setPanel(panel, button, open) {
    panel.hidden = !open;
    if (button) { button.setAttribute('aria-expanded', open ? 'true' : 'false'); }
    var replaced = panel.getAttribute('data-replaces') && document.getElementById(panel.getAttribute('data-replaces'));
    if (replaced) {
      replaced.hidden = open;
      Array.prototype.forEach.call(document.querySelectorAll('[data-signon-only]'), function (el) { el.hidden = open; });
    }
  }

  function toggle(buttonID, panelID, fill) {
    var button = document.getElementById(buttonID);
    var panel = document.getElementById(panelID);
    if (!button || !panel) { return; }
    button.addEventListener('click', function () {
      var open = panel.hidden;
      clearError();
      setPanel(panel, button, open);
      if (open) {
        if (fill) { fill(panel); }
        var first = panel.querySelector('input:not([type=hidden])');
        if (first) { first.focus(); }
      }
    });
    Array.prototype.forEach.call(panel.querySelectorAll('[data-closes]'), function (b) {
      b.addEventListener('click', function () {
        clearError();
        setPanel(panel, button, false);
        button.focus();
      });
    });
  }
  toggle('forgot', 'forgot-form', function (panel) {
    var typed = document.getElementById('username');
    var field = panel.querySelector('#forgotUsername');
    if (typed && typed.value && field && !field.value) { field.value = typed.value; }
  });
  toggle('register', 'register-form');

  document.addEventListener('submit', submit);
  if (!errorBox.hidden && errorBox.textContent) { errorBox.focus(); }
}());
