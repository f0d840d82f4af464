// R4 rest-hook subscriptions, kept simple: after every stored write, each active Subscription
// whose channel is `rest-hook` and whose `criteria` (`Type?params`) matches the new version gets
// the resource POSTed to `channel.endpoint` as application/fhir+json, with `channel.header`
// entries ("Name: value") as headers. Always the full resource, whatever `channel.payload` says.
// Fire and forget: failures are logged to stderr (subscription id and status only) and not
// retried. Deliveries to one subscription are sent one after another, in write order.
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';

const DELIVERY_TIMEOUT_MS = 10_000;

export function createNotifier(repo, log) {
  const queues = new Map(); // subscription id -> tail of its delivery chain
  let matching = Promise.resolve();

  function enqueue(subscription, resource) {
    const tail = queues.get(subscription.id) ?? Promise.resolve();
    const next = tail.then(() => deliver(subscription, resource, log));
    queues.set(subscription.id, next);
    next.then(() => {
      if (queues.get(subscription.id) === next) {
        queues.delete(subscription.id);
      }
    });
  }

  async function notify(resource) {
    const subscriptions = await repo.searchResources(parseSearchRequest('Subscription', { status: 'active' }));
    for (const subscription of subscriptions) {
      if (subscription.channel?.type !== 'rest-hook' || !subscription.channel.endpoint) {
        continue;
      }
      let criteria;
      try {
        criteria = parseSearchRequest(subscription.criteria ?? '');
      } catch {
        log(`rest-hook: Subscription/${subscription.id} has unusable criteria`);
        continue;
      }
      if (matchesSearchRequest(resource, criteria)) {
        enqueue(subscription, resource);
      }
    }
  }

  /** Called by the repository after each stored version; returns at once. */
  return function resourceWritten(resource) {
    matching = matching.then(() => notify(resource)).catch((err) => log(`rest-hook: matching failed: ${err.name}`));
  };
}

async function deliver(subscription, resource, log) {
  const headers = { 'content-type': 'application/fhir+json' };
  for (const line of subscription.channel.header ?? []) {
    const at = line.indexOf(':');
    if (at > 0) {
      headers[line.substring(0, at).trim().toLowerCase()] = line.substring(at + 1).trim();
    }
  }
  try {
    const response = await fetch(subscription.channel.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(resource),
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    if (!response.ok) {
      log(`rest-hook: delivery for Subscription/${subscription.id} failed: HTTP ${response.status}`);
    }
  } catch (err) {
    log(`rest-hook: delivery for Subscription/${subscription.id} failed: ${err.cause?.code ?? err.cause?.message ?? err.name}`);
  }
}
