// Imports each BPMN or DMN file given on the command line the way bpmn-js and dmn-js (and so Camunda
// Modeler 5, Camunda Platform 7) import it: bpmn-moddle or dmn-moddle with the camunda extension.
// Any import error or warning (unknown element or attribute, unresolved reference, unparsable
// content) fails the check.
//
//   npm ci --prefix tests/modeler
//   node tests/modeler/check.mjs bpmn/*.bpmn
//
// Prints one line per problem ("<file>: <message>") and exits 1 if there was any, 0 otherwise.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import { BpmnModdle } from 'bpmn-moddle';
import { DmnModdle } from 'dmn-moddle';

const require = createRequire(import.meta.url);
const camundaPackage = require('camunda-bpmn-moddle/resources/camunda.json');
const camundaDmnPackage = require('camunda-dmn-moddle/resources/camunda.json');

function describe(element) {
  if (!element) {
    return '';
  }
  const id = element.id ? `#${element.id}` : '';
  return ` [${element.$type || 'element'}${id}]`;
}

async function check(file) {
  const problems = [];
  let xml;
  try {
    xml = await readFile(file, 'utf8');
  } catch (error) {
    return [`cannot read: ${error.message}`];
  }
  const decision = file.endsWith('.dmn');
  const moddle = decision ? new DmnModdle({ camunda: camundaDmnPackage }) : new BpmnModdle({ camunda: camundaPackage });
  const rootType = decision ? 'dmn:Definitions' : 'bpmn:Definitions';
  try {
    const { rootElement, warnings } = await moddle.fromXML(xml, rootType);
    for (const warning of warnings) {
      problems.push(`${warning.message.split('\n')[0]}${describe(warning.element)}`);
    }
    if (!rootElement || rootElement.$type !== rootType) {
      problems.push(`root element is not ${rootType}`);
    }
  } catch (error) {
    problems.push(`import failed: ${error.message.split('\n')[0]}`);
    for (const warning of error.warnings || []) {
      problems.push(`${warning.message.split('\n')[0]}${describe(warning.element)}`);
    }
  }
  return problems;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check.mjs FILE.bpmn|FILE.dmn...');
  process.exit(2);
}

let failed = 0;
for (const file of files) {
  const problems = await check(file);
  for (const problem of problems) {
    console.log(`${file}: ${problem}`);
  }
  if (problems.length) {
    failed += 1;
  }
}
console.log(`modeler import check: ${files.length - failed} file(s) clean, ${failed} with problems`);
process.exit(failed ? 1 : 0);
