#!/usr/bin/env node
// `build` of a package that ships TypeScript sources, bundled into each app that uses it. The task
// exists so that turbo hashes this package's sources into its dependents' build hashes: without it,
// an edit here would leave the apps' cached bundles stale.
console.log(`${process.env.npm_package_name ?? 'this package'}: sources only, bundled by the apps that use it`);
