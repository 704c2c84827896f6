// The real peer for bench.sync_wire: PouchDB replicating documents to a CouchDB-protocol
// server (express-pouchdb), both in memory.
//   node peer.js serve                 prints the port it listens on (127.0.0.1)
//   node peer.js replicate URL FILE    loads FILE (a JSON list of docs), replicates to URL,
//                                      prints "done", waits for a line on stdin, replicates
//                                      again (nothing new to send) and prints "done"
"use strict";

const PouchDB = require("pouchdb").plugin(require("pouchdb-adapter-memory"));
const MemoryPouch = PouchDB.defaults({ adapter: "memory" });

async function serve() {
  const express = require("express");
  const app = express();
  app.use("/", require("express-pouchdb")(MemoryPouch, { mode: "minimumForPouchDB", inMemoryConfig: true }));
  const server = app.listen(0, "127.0.0.1", () => {
    console.log(server.address().port);
  });
}

function nextLine() {
  return new Promise((resolve) => process.stdin.once("data", resolve));
}

async function replicate(url, file) {
  const docs = JSON.parse(require("fs").readFileSync(file, "utf8"));
  const local = new MemoryPouch("day");
  await local.bulkDocs(docs);
  for (let round = 0; round < 2; round++) {
    if (round) await nextLine();
    const result = await PouchDB.replicate(local, url);
    console.log(`done ${result.docs_written}`);
  }
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
(mode === "serve" ? serve() : replicate(...args)).catch((error) => {
  console.error(error);
  process.exit(1);
});
