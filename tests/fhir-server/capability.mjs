// The CapabilityStatement served at /metadata, built once from the loaded R4 definitions.
import { getResourceTypes } from '@medplum/core';
import { matchableParams } from './search.mjs';

/**
 * R4 resource types that R4B removed. fhir-sdk (an R4B client) parses `rest.resource.type` as an
 * R4B code, so listing any of these would make its `capabilities()` call fail.
 */
const REMOVED_IN_R4B = new Set([
  'EffectEvidenceSynthesis',
  'MedicinalProduct',
  'MedicinalProductAuthorization',
  'MedicinalProductContraindication',
  'MedicinalProductIndication',
  'MedicinalProductIngredient',
  'MedicinalProductInteraction',
  'MedicinalProductManufactured',
  'MedicinalProductPackaged',
  'MedicinalProductPharmaceutical',
  'MedicinalProductUndesirableEffect',
  'RiskEvidenceSynthesis',
  'SubstanceNucleicAcid',
  'SubstancePolymer',
  'SubstanceProtein',
  'SubstanceReferenceInformation',
  'SubstanceSourceMaterial',
  'SubstanceSpecification',
]);

const INTERACTIONS = ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'];

export function buildCapabilityStatement({ softwareVersion, authRequired }) {
  const resource = getResourceTypes()
    .filter((type) => !REMOVED_IN_R4B.has(type))
    .sort()
    .map((type) => ({
      type,
      interaction: INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      searchParam: matchableParams(type)
        .map((p) => ({ name: p.code, type: p.type }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }));
  const statement = {
    resourceType: 'CapabilityStatement',
    id: 'throughline-fhir-test-server',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Throughline FHIR test server (medplum fhir-router, in memory)', version: softwareVersion },
    implementation: { description: 'In-memory FHIR R4 server for tests; data is lost on exit' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource,
        interaction: [{ code: 'batch' }, { code: 'transaction' }],
      },
    ],
  };
  if (authRequired) {
    statement.rest[0].security = {
      description: 'Bearer token required on every request except /metadata',
    };
  }
  return statement;
}
