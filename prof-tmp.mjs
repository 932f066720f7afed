import { startBenchService, runEnrollments, cpuMs } from './dist/bench/attest.js';
const service = await startBenchService('sqlite', undefined, 32, process.env.PROF ? { args: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] } : {});
await runEnrollments(service, 1000, 16);
for (let i = 0; i < 3; i++) {
const before = cpuMs(service.pid);
const run = await runEnrollments(service, 500, 16);
console.log('cpu/enroll', ((cpuMs(service.pid) - before) / run.enrollments).toFixed(2), 'wall/enroll', (run.wallMs / run.enrollments).toFixed(2));
}
await service.stop();
