// The in-memory store: medplum's MemoryRepository with three test-server adjustments.
//
// 1. A client-supplied `meta.lastUpdated` on create is kept (tests seed resources "as of" a
//    time), but rewritten as a UTC instant with milliseconds: medplum sorts `_sort=_lastUpdated`
//    by comparing strings, which orders `...:00Z` after `...:00.500Z` and ignores offsets.
// 2. A rest-hook Subscription created as `requested` becomes `active`, as a real server does
//    after its handshake, and every stored version is reported to `onWrite` (for rest-hooks).
//    Updates and patches store through createResource, so one hook sees every write.
// 3. readHistory in medplum reverses the stored version list in place; read a copy instead.
import { OperationOutcomeError, badRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';

export class TestRepository extends MemoryRepository {
  /** Called with each resource version after it is stored. */
  onWrite = undefined;

  async createResource(resource) {
    const prepared = structuredClone(resource);
    const lastUpdated = prepared.meta?.lastUpdated;
    if (lastUpdated !== undefined) {
      const instant = new Date(lastUpdated);
      if (typeof lastUpdated !== 'string' || Number.isNaN(instant.getTime())) {
        throw new OperationOutcomeError(badRequest('meta.lastUpdated must be an instant'));
      }
      prepared.meta.lastUpdated = instant.toISOString();
    }
    if (
      prepared.resourceType === 'Subscription' &&
      prepared.status === 'requested' &&
      prepared.channel?.type === 'rest-hook'
    ) {
      prepared.status = 'active';
    }
    const stored = await super.createResource(prepared);
    this.onWrite?.(stored);
    return stored;
  }

  async readHistory(resourceType, id) {
    const versions = this.history.get(resourceType)?.get(id);
    const saved = versions ? [...versions] : undefined;
    try {
      return await super.readHistory(resourceType, id);
    } finally {
      if (saved) {
        versions.splice(0, versions.length, ...saved);
      }
    }
  }
}
