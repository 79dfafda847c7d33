// Validates each element template file given on the command line against Camunda's element template
// JSON schema (the validator Camunda Modeler uses) and prints one JSON object:
// file -> [error messages]; an empty list means the file is valid.
//
//   node tests/modeler/templates.mjs modeler/element-templates/*.json
import { readFile } from 'node:fs/promises';

import { validateAll } from '@bpmn-io/element-templates-validator';

const results = {};
for (const file of process.argv.slice(2)) {
  let templates;
  try {
    templates = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    results[file] = [`not JSON: ${error.message}`];
    continue;
  }
  const { results: checked } = validateAll(Array.isArray(templates) ? templates : [templates]);
  results[file] = checked.flatMap((result) => result.valid ? [] : result.errors.map(
    (error) => `${result.object && result.object.id}: ${error.dataPath || error.instancePath || ''} ${error.message}`));
}
console.log(JSON.stringify(results, null, 1));
