// The site's service worker: a template that `cargo xtask dist` writes into dist/sw.js with the lists below filled
// in from the build, so that hashed names stay right. It keeps one build of the app (the one the loader chose, named
// in this script's address: sw.js?build=relaxed or baseline) and every other file of the site in a cache named after
// their content, so that the site opens and every lesson works offline. A new build's worker waits until the learner
// accepts the update (the page offers it), then takes over and removes the old caches.
const VERSION = 'SITE_VERSION';
const FILES = SITE_FILES;
const BUILDS = SITE_BUILDS;
const CACHE = `sandbox-${VERSION}`;
const BUILD = new URL(location.href).searchParams.get('build') === 'baseline' ? 'baseline' : 'relaxed';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...FILES, ...BUILDS[BUILD]])));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((key) => key.startsWith('sandbox-') && key !== CACHE).map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

// The page posts 'update' when the learner accepts the new version.
self.addEventListener('message', (event) => {
  if (event.data === 'update') self.skipWaiting();
});

// Every route is the same page; every file comes from the cache, the network only for what it lacks.
self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== location.origin) return;
  const cached = request.mode === 'navigate'
    ? caches.match(new URL('index.html', location.href).href, { cacheName: CACHE })
    : caches.match(request, { cacheName: CACHE, ignoreSearch: true });
  event.respondWith(cached.then((hit) => hit ?? fetch(request)));
});
