// Loaded into the service process by the soak benchmark only (node --expose-gc -r): on SIGUSR2 it
// runs a full garbage collection and writes process.memoryUsage() to SOAK_PROBE_FILE — the live
// heap after GC is what shows a leak; resident memory alone also counts garbage not yet collected.
'use strict';
const { writeFileSync, renameSync } = require('node:fs');

const file = process.env.SOAK_PROBE_FILE;
if (file && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    renameSync(`${file}.tmp`, file);
  });
}
