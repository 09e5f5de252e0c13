// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title DemoNft
/// @notice An ERC-721 for tests and the walkthrough: anyone may mint the next token id
/// (starting at 1) to any address.
contract DemoNft is ERC721 {
    uint256 public totalMinted;

    constructor() ERC721("Latchkey Demo NFT", "LKN") {}

    function mint(address to) external returns (uint256 tokenId) {
        tokenId = ++totalMinted;
        _mint(to, tokenId);
    }
}
