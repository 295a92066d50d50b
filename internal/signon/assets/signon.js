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
    otp: 'code', assertion: 'passkey', attestation: 'passkey'
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

  // nameOf is what to call the field an error targets: the page's own
  // word for it, else its label (a profile attribute's display name),
  // else the target itself.
  function nameOf(target) {
    if (labels[target]) { return labels[target]; }
    var el = document.querySelector('[name="' + target + '"]:not([type=hidden])');
    var l = el && el.labels && el.labels[0];
    return l && l.firstChild ? l.firstChild.textContent.trim().toLowerCase() : target;
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
        return (d.target === 'assertion' ? 'Too many failed attempts' : 'Too many incorrect codes') + ': verification is locked for ' +
          (secs < 60 ? duration(secs) : duration(60 * Math.max(1, Math.round(secs / 60)))) + '. Try again then.';
      case 'ACCOUNT_LOCKED':
        return 'This account is locked. Contact your administrator.';
      case 'UNIQUENESS_VIOLATION':
        // Registration's username, or a unique attribute a profile asks.
        if (d.target && d.target !== 'username') {
          return 'That ' + nameOf(d.target) + ' is already in use. Enter another one.';
        }
        return 'That username is already taken. Choose another one.';
      case 'REQUIRED_VALUE':
        return 'Enter your ' + nameOf(d.target) + '.';
      case 'SIZE_LIMIT_EXCEEDED':
        return 'The ' + nameOf(d.target) + ' is too long.';
      case 'INVALID_VALUE':
        if (inner.unsatisfiedRequirements && inner.unsatisfiedRequirements.length) {
          return 'The password does not meet these rules: ' + inner.unsatisfiedRequirements.map(function (r) {
            return ruleWords[r] || r;
          }).join('; ') + '.';
        }
        if (d.target === 'currentPassword') { return 'Your current password is incorrect.'; }
        if (d.target === 'assertion') {
          if (typeof inner.failuresRemaining === 'number') {
            return 'That passkey or security key was not accepted. ' + attempts(inner.failuresRemaining) + ' left before verification is locked.';
          }
          return 'That passkey or security key was not accepted. Try again with one registered to your account.';
        }
        if (d.target === 'attestation') { return 'The passkey could not be set up. Try again, or use another passkey or security key.'; }
        if (d.target === 'origin') { return 'Passkeys cannot be used at this address. Contact your administrator.'; }
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
        return 'Check the ' + nameOf(d.target) + '.';
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
    var missing = form.querySelector('input[required]:not([type=hidden]), select[required]');
    var fields = form.querySelectorAll('input[required]:not([type=hidden]), select[required]');
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].value) {
        missing = fields[i];
        showError((missing.tagName === 'SELECT' ? 'Choose your ' : 'Enter your ') +
          (labels[missing.name] || missing.labels[0].textContent.toLowerCase()) + '.', missing);
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
    // One request per form at a time: a second click or Enter is not a
    // second action (nor a second passkey prompt).
    if (form.getAttribute('aria-busy') === 'true') { return; }
    if (form.hasAttribute('data-webauthn')) {
      ceremony(form);
      return;
    }
    clearError();
    if (!check(form)) { return; }
    var body = bodyOf(form);
    if (form.hasAttribute('data-compat')) {
      // PingOne's device.select carries what this browser can do with
      // FIDO2; Gatehouse checks it and chooses nothing by it.
      busy(form, true);
      compatibility.then(function (c) { body.compatibility = c; send(form, action, body); });
      return;
    }
    send(form, action, body);
  }

  // send posts the action's body; the page then moves on, or says why
  // not (refused, when given, runs after a refusal is shown).
  function send(form, action, body, refused) {
    busy(form, true);
    fetch(flowURL, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': mediaType(action), 'Accept': 'application/json' },
      body: JSON.stringify(body)
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
        if (vanished(d)) {
          // The flow went back to choosing a device: its screen, with
          // the reason.
          carry(errorBox.textContent);
          window.location.reload();
          return;
        }
        if (refused) { refused(); }
      });
    }).catch(function () {
      busy(form, false);
      showError('The sign-on service could not be reached. Check your connection and try again.');
    });
  }

  // vanished: the selected device went away (deleted, disabled) and the
  // flow now asks for another; the server's spacing of sent codes is the
  // same target but keeps the screen.
  function vanished(d) {
    var m = d.message || '';
    return d.code === 'INVALID_VALUE' && d.target === 'device.id' && !/Wait \d+ seconds?/.test(m) && !/^Too many/.test(m);
  }

  // carry keeps a message across the reload into the flow's next screen,
  // for this flow only; carried takes it back.
  var carryKey = 'gatehouse.signon.message';
  function carry(text) {
    try { sessionStorage.setItem(carryKey, JSON.stringify({ flow: flowURL, text: text })); } catch (e) { /* the next screen says less */ }
  }
  function carried() {
    try {
      var v = JSON.parse(sessionStorage.getItem(carryKey) || 'null');
      sessionStorage.removeItem(carryKey);
      return v && v.flow === flowURL && typeof v.text === 'string' ? v.text : '';
    } catch (e) { return ''; }
  }

  // ---- passkeys and security keys (WebAuthn)

  // PingOne prints a ceremony's options as a JSON string whose binary
  // members are arrays of signed bytes (Java's byte[]); base64url (or
  // base64) strings are taken too.
  function bytesOf(v) {
    var out, i;
    if (Array.isArray(v)) {
      out = new Uint8Array(v.length);
      for (i = 0; i < v.length; i++) { out[i] = v[i] & 0xff; }
      return out.buffer;
    }
    if (typeof v === 'string') {
      var bin = atob(v.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''));
      out = new Uint8Array(bin.length);
      for (i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
      return out.buffer;
    }
    throw new TypeError('not binary');
  }

  // b64url is what the flow API takes back: base64url without padding.
  function b64url(buf) {
    var b = new Uint8Array(buf), s = '';
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function credentialList(list) {
    return (list || []).map(function (c) {
      var o = { type: c.type || 'public-key', id: bytesOf(c.id) };
      if (c.transports) { o.transports = c.transports; }
      return o;
    });
  }

  // publicKeyOf turns the options string into what navigator.credentials
  // takes; members it does not know pass as they are.
  function publicKeyOf(kind, text) {
    var o = JSON.parse(text);
    o.challenge = bytesOf(o.challenge);
    if (typeof o.timeout === 'string') { o.timeout = Number(o.timeout); }
    if (kind === 'create') {
      o.user = { id: bytesOf(o.user.id), name: o.user.name, displayName: o.user.displayName || o.user.name };
      // PingOne prints the algorithms as strings ("-7").
      o.pubKeyCredParams = (o.pubKeyCredParams || []).map(function (p) { return { type: p.type || 'public-key', alg: Number(p.alg) }; });
      o.excludeCredentials = credentialList(o.excludeCredentials);
    } else {
      o.allowCredentials = credentialList(o.allowCredentials);
    }
    return o;
  }

  // credentialJSON is the browser's answer as the flow API reads it.
  function credentialJSON(cred) {
    var r = cred.response, resp = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      resp.attestationObject = b64url(r.attestationObject);
      if (typeof r.getTransports === 'function') { resp.transports = r.getTransports(); }
    } else {
      resp.authenticatorData = b64url(r.authenticatorData);
      resp.signature = b64url(r.signature);
      resp.userHandle = r.userHandle ? b64url(r.userHandle) : '';
    }
    var out = { id: cred.id, rawId: b64url(cred.rawId), type: cred.type, response: resp,
      clientExtensionResults: typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {} };
    if (cred.authenticatorAttachment) { out.authenticatorAttachment = cred.authenticatorAttachment; }
    return JSON.stringify(out);
  }

  var webAuthn = !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.get);

  // compatibility is what this browser can use, in PingOne's words:
  // FULL with a platform authenticator that verifies the user (a
  // passkey on this device), SECURITY_KEY_ONLY without one, NONE
  // without WebAuthn.
  var compatibility = !webAuthn ? Promise.resolve('NONE') :
    typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable !== 'function' ? Promise.resolve('SECURITY_KEY_ONLY') :
      PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then(function (ok) {
        return ok ? 'FULL' : 'SECURITY_KEY_ONLY';
      }, function () { return 'SECURITY_KEY_ONLY'; });

  var noWebAuthn = 'This browser cannot use passkeys.';

  // refusal words what the browser said when the ceremony did not
  // happen. The page calls off only the autofill request, never this
  // one: an AbortError here is the browser's (another request, the tab
  // hidden), a cancellation to the user.
  function refusal(err, creating) {
    switch (err && err.name) {
      case 'NotAllowedError':
      case 'AbortError':
        return 'The passkey request was cancelled or timed out. Try again.';
      case 'InvalidStateError':
        return creating ? 'That passkey or security key is already registered. Use another one.' :
          'The passkey request was cancelled or timed out. Try again.';
      case 'SecurityError':
        return 'Passkeys cannot be used at this address. Contact your administrator.';
      case 'NotSupportedError':
        return creating ? 'This browser or security key cannot create the kind of passkey this sign-on needs.' :
          'This browser or security key cannot be used for this sign-on.';
      case 'ConstraintError':
        return creating ? 'This browser or security key cannot create the kind of passkey this sign-on needs.' :
          'This passkey or security key cannot verify that it\'s you. Use one with a fingerprint, face, screen lock or PIN.';
    }
    return 'The passkey could not be used. Try again.';
  }

  var statusLine = document.getElementById('passkey-status');

  function say(text) {
    if (statusLine) { statusLine.textContent = text; }
  }

  // The autofill request (conditional mediation) waits in the username
  // field's suggestions; it is called off, and its end awaited, before the
  // button's request: Chromium refuses a modal request while it is
  // pending.
  var autofill = null;

  // ceremony asks the browser for a passkey (data-webauthn="get") or to
  // make one ("create"), and sends its answer with the form's action.
  function ceremony(form) {
    var kind = form.getAttribute('data-webauthn');
    if (form.getAttribute('aria-busy') === 'true') { return; }
    clearError();
    if (!webAuthn) {
      showError(noWebAuthn);
      return;
    }
    var pk;
    try {
      pk = publicKeyOf(kind, form.getAttribute('data-options'));
    } catch (e) {
      showError('The passkey request could not be read. Start over and try again.');
      return;
    }
    busy(form, true);
    var start = function () {
      say(kind === 'create' ? 'Follow your browser\'s steps to create a passkey.' :
        'Follow your browser\'s steps to use your passkey or security key.');
      return kind === 'create' ? navigator.credentials.create({ publicKey: pk }) : navigator.credentials.get({ publicKey: pk });
    };
    var pending = autofill ? autofill.stop().then(start) : start();
    pending.then(function (cred) { answer(form, kind, cred); }, function (err) {
      busy(form, false);
      say('');
      showError(refusal(err, kind === 'create'));
      // The passkeys go back among the username's suggestions.
      if (form.hasAttribute('data-autofill')) { startAutofill(form); }
    });
  }

  // answer sends the credential the browser gave.
  function answer(form, kind, cred) {
    say('');
    compatibility.then(function (c) {
      var body = { origin: window.location.origin };
      if (kind === 'create') {
        body.attestation = credentialJSON(cred);
      } else {
        body.assertion = credentialJSON(cred);
        body.compatibility = c;
      }
      send(form, form.getAttribute('data-action'), body, function () { renew(form); });
    });
  }

  // renew reads the flow's fresh options after a refused answer: the
  // server never takes a challenge twice, so the button waits for them
  // (a try with the spent one would be refused, and may count). A flow
  // that moved on shows its own screen, with the reason.
  function renew(form) {
    var member = form.getAttribute('data-webauthn') === 'create' ? 'publicKeyCredentialCreationOptions' : 'publicKeyCredentialRequestOptions';
    busy(form, true);
    fetch(flowURL, { credentials: 'same-origin', cache: 'no-store', headers: { 'Accept': 'application/json' } })
      .then(function (resp) { return resp.ok ? resp.json() : { status: resp.status === 404 ? 'gone' : '' }; })
      .then(function (flow) {
        if (flow.status && flow.status !== main.getAttribute('data-status')) {
          carry(errorBox.textContent);
          window.location.reload();
          return;
        }
        busy(form, false);
        if (typeof flow[member] === 'string') {
          form.setAttribute('data-options', flow[member]);
          if (form.hasAttribute('data-autofill')) { startAutofill(form); }
        }
      }, function () { busy(form, false); /* the next try says what is wrong */ });
  }

  // startAutofill offers the user's passkeys among the username field's
  // suggestions, where the browser can.
  // The request is known (autofill) from the start, before the browser
  // says whether it can: a click in between still calls it off first.
  function startAutofill(form) {
    if (!webAuthn || autofill || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') { return; }
    var ctl = new AbortController(), stopped = false, settled;
    var self = {
      stop: function () {
        stopped = true;
        if (autofill === self) { autofill = null; }
        ctl.abort();
        return settled;
      }
    };
    var end = function () { if (autofill === self) { autofill = null; } };
    autofill = self;
    settled = PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      var pk;
      try { pk = ok && !stopped && publicKeyOf('get', form.getAttribute('data-options')); } catch (e) { pk = null; }
      if (!pk) { end(); return; }
      return navigator.credentials.get({ mediation: 'conditional', publicKey: pk, signal: ctl.signal }).then(function (cred) {
        end();
        // A passkey chosen as the button's request began: that one goes on.
        if (stopped || form.getAttribute('aria-busy') === 'true') { return; }
        clearError();
        busy(form, true);
        answer(form, 'get', cred);
      }, end); // called off, or nothing chosen: the button stays
    }, end);
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-webauthn]'), function (form) {
    if (!webAuthn) {
      // A choice the browser cannot make is not offered; a screen that
      // is nothing but it says why.
      if (form.hasAttribute('data-optional')) {
        Array.prototype.forEach.call(document.querySelectorAll('[data-passkey-only]'), function (el) { el.hidden = true; });
        form.hidden = true;
      } else {
        busy(form, true);
        showError(noWebAuthn);
      }
      return;
    }
    if (form.hasAttribute('data-autofill')) { startAutofill(form); }
    if (form.hasAttribute('data-autostart')) { ceremony(form); }
  });

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
  var kept = carried();
  if (kept && errorBox.hidden) {
    showError(kept);
  } else if (!errorBox.hidden && errorBox.textContent) { errorBox.focus(); }
}());
