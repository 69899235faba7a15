// GOV.UK Frontend's body-class snippet, served as a file because the Content-Security-Policy
// forbids inline script: its components style and start themselves only where supported.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
