// Compiles contracts/TestUSD.sol with the npm `solc` package into contracts/TestUSD.json
// (abi + bytecode). Run once after changing the source: node contracts/compile.js
const path = require('path');
const fs = require('fs');
const solc = require('solc');

const here = __dirname;
const src = fs.readFileSync(path.join(here, 'TestUSD.sol'), 'utf8');
const input = {
  language: 'Solidity',
  sources: {'TestUSD.sol': {content: src}},
  settings: {
    optimizer: {enabled: true, runs: 200},
    evmVersion: 'paris', // anvil runs every hardfork since; paris keeps the bytecode portable
    outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object']}},
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors || []) console.error(e.formattedMessage);
if ((out.errors || []).some((e) => e.severity === 'error')) process.exit(1);
const c = out.contracts['TestUSD.sol'].TestUSD;
const artifact = {
  contractName: 'TestUSD',
  compiler: 'solc ' + solc.version(),
  optimizer: input.settings.optimizer,
  evmVersion: input.settings.evmVersion,
  source: 'contracts/TestUSD.sol',
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
};
fs.writeFileSync(path.join(here, 'TestUSD.json'), JSON.stringify(artifact, null, 2) + '\n');
console.log('wrote contracts/TestUSD.json with', artifact.compiler);
