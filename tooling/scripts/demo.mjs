#!/usr/bin/env node
console.log('The full update demo is not built yet (issue 6); run ./run.sh test for the test suite.');
