// The device's identity, kept in IndexedDB: the non-extractable Ed25519
// private key (a CryptoKey, stored as is), the device id, the server's
// pinned push key and the TOTP secret; nothing in web storage.

const DB = 'approvald-authenticator';
const STORE = 'device';
const KEY = 'self';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run(mode, f) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = f(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  }));
}

export function loadDevice() {
  return run('readonly', (s) => s.get(KEY));
}

export function saveDevice(device) {
  return run('readwrite', (s) => s.put(device, KEY));
}

export function forgetDevice() {
  return run('readwrite', (s) => s.delete(KEY));
}
