// SPDX-License-Identifier: MIT
// Pays ether on through internal calls, as a smart-contract wallet or an exchange's batch
// withdrawal would: the recipients never appear as a transaction's `to`. Test-only (the
// internal-transfer tests); compiled with the npm `solc` package (node contracts/compile.js).
pragma solidity ^0.8.20;

contract Forwarder {
    function pay(address to) public payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "pay failed");
    }

    // Pays `first` `firstValue` and `second` the rest of msg.value.
    function payTwo(address first, uint256 firstValue, address second) external payable {
        (bool ok, ) = first.call{value: firstValue}("");
        require(ok, "first failed");
        (ok, ) = second.call{value: msg.value - firstValue}("");
        require(ok, "second failed");
    }

    // Pays, then reverts the whole transaction: nothing moves.
    function payThenRevert(address to) public payable {
        pay(to);
        revert("changed my mind");
    }

    // The inner call pays `to` and reverts; the outer transaction succeeds and keeps the ether.
    function payInFailingCall(address to) external payable {
        (bool ok, ) = address(this).call{value: msg.value}(abi.encodeCall(this.payThenRevert, (to)));
        require(!ok, "inner call should fail");
    }

    // Pays through a second forwarder: a call two levels deep.
    function payVia(Forwarder next, address to) external payable {
        next.pay{value: msg.value}(to);
    }
}
