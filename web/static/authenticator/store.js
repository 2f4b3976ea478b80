// The device's identity, kept in IndexedDB: the non-extractable Ed25519
// private key (a CryptoKey, stored as is), the device id, the server's
// pinned push key (serverKey) and during a rotation the one before it
// (oldServerKey), and the TOTP secret; nothing in web storage.

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

// updateDevice sets fields of the stored device deviceID in one
// transaction, leaving the rest as stored: the page and its service worker
// both write (a key learned from a push, a subscription renewed), and
// neither may put back what the other changed. A device forgotten or
// replaced meanwhile is left alone.
export function updateDevice(deviceID, fields) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite');
    const s = tx.objectStore(STORE);
    const req = s.get(KEY);
    req.onsuccess = () => {
      const d = req.result;
      if (d && !d.pending && d.deviceID === deviceID) s.put(Object.assign(d, fields), KEY);
    };
    tx.oncomplete = () => { db.close(); resolve(); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  }));
}
