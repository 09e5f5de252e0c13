// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoToken
/// @notice An ERC-20 for tests and the walkthrough: anyone may mint. It also has the
/// classic `increaseAllowance`, one of the calls spending caps count.
contract DemoToken is ERC20 {
    constructor() ERC20("Latchkey Demo Token", "LKD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function increaseAllowance(address spender, uint256 addedValue) external returns (bool) {
        _approve(msg.sender, spender, allowance(msg.sender, spender) + addedValue);
        return true;
    }
}
