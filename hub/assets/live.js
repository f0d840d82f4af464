// Live fragments for the Throughline dashboard: the element with data-watch names what this
// page follows; each server-sent "fragment" is "<element id>\n<html>" and replaces that
// element's contents. The HTML was rendered and escaped by the hub's own templates.
const live = document.querySelector('[data-watch]');
if (live && window.EventSource) {
  const source = new EventSource('/dashboard/events?watch=' + encodeURIComponent(live.dataset.watch));
  source.addEventListener('fragment', (e) => {
    const cut = e.data.indexOf('\n');
    const target = document.getElementById(e.data.slice(0, cut));
    if (target) target.innerHTML = e.data.slice(cut + 1);
  });
  source.onopen = () => { live.dataset.state = 'live'; };
  source.onerror = () => { live.dataset.state = 'reconnecting'; };
}
