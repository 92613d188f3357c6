// Where the tests write what a CI run keeps: .ci/artifacts/ (gitignored).
import { resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../../..');
export const artifacts = resolve(root, '.ci/artifacts');
export const screenshots = resolve(artifacts, 'screenshots');
