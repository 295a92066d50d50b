// The preview page loads the sign-on stylesheet of the environment it
// previews (?env=<id>), the one the hosted page itself uses.
(() => {
  const env = new URLSearchParams(location.search).get('env') || '';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(env)) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/' + env + '/signon/assets/signon.css';
  document.head.append(link);
})();
