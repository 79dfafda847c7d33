// Lints each BPMN file given on the command line as Camunda Modeler's problems panel does (bpmnlint
// with bpmnlint:recommended and plugin:camunda-compat/camunda-platform-7-24, the rules in .bpmnlintrc
// beside this file) and prints one JSON object: file -> [{id, rule, category, message}].
//
//   node tests/modeler/lint.mjs bpmn/*.bpmn
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BpmnModdle } from 'bpmn-moddle';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const Linter = require('bpmnlint/lib/linter');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');
const camundaPackage = require('camunda-bpmn-moddle/resources/camunda.json');

const config = JSON.parse(await readFile(join(here, '.bpmnlintrc'), 'utf8'));

const results = {};
for (const file of process.argv.slice(2)) {
  const moddle = new BpmnModdle({ camunda: camundaPackage });
  const { rootElement, warnings } = await moddle.fromXML(await readFile(file, 'utf8'), 'bpmn:Definitions');
  const problems = warnings.map((warning) => ({
    id: warning.element && warning.element.id, rule: 'import', category: 'error',
    message: warning.message.split('\n')[0],
  }));
  // A linter of its own for each file: some rules remember what they saw (flows between the same
  // elements) and would compare one file with the next.
  const linter = new Linter({ config, resolver: new NodeResolver({ require }) });
  const reports = await linter.lint(rootElement);
  for (const [rule, entries] of Object.entries(reports)) {
    for (const entry of entries) {
      problems.push({ id: entry.id, rule, category: entry.category, message: entry.message });
    }
  }
  results[file] = problems;
}
console.log(JSON.stringify(results, null, 1));
