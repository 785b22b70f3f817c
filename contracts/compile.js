// Compiles the contracts below with the npm `solc` package into contracts/<Name>.json
// (abi + bytecode). Run once after changing a source: node contracts/compile.js [Name ...]
// (default: all of them)
//   TestUSD    the devnet's test token (deployed by chain/devnet.py)
//   Forwarder  test-only: pays ether on through internal calls (chain/devnet.py deploy_forwarder)
const path = require('path');
const fs = require('fs');
const solc = require('solc');

const here = __dirname;
const names = process.argv.length > 2 ? process.argv.slice(2) : ['TestUSD', 'Forwarder'];
for (const name of names) {
  const file = name + '.sol';
  const src = fs.readFileSync(path.join(here, file), 'utf8');
  const input = {
    language: 'Solidity',
    sources: {[file]: {content: src}},
    settings: {
      optimizer: {enabled: true, runs: 200},
      evmVersion: 'paris', // anvil runs every hardfork since; paris keeps the bytecode portable
      outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object']}},
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  for (const e of out.errors || []) console.error(e.formattedMessage);
  if ((out.errors || []).some((e) => e.severity === 'error')) process.exit(1);
  const c = out.contracts[file][name];
  const artifact = {
    contractName: name,
    compiler: 'solc ' + solc.version(),
    optimizer: input.settings.optimizer,
    evmVersion: input.settings.evmVersion,
    source: 'contracts/' + file,
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
  };
  fs.writeFileSync(path.join(here, name + '.json'), JSON.stringify(artifact, null, 2) + '\n');
  console.log('wrote contracts/' + name + '.json with', artifact.compiler);
}
