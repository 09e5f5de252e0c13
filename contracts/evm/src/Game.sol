// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Game
/// @notice A small demo game for session keys: players make moves and, every three moves,
/// claim a reward. Everything is keyed by the caller, so a session scoped to `makeMove`
/// and `claimReward` on this contract can play for its account and do nothing else.
contract Game {
    /// Moves needed per reward.
    uint32 public constant MOVES_PER_REWARD = 3;

    struct PlayerState {
        uint32 moves;
        uint32 unclaimedMoves;
        uint32 rewards;
        uint256 lastMove;
    }

    mapping(address player => PlayerState) private _players;
    uint64 public totalMoves;

    event Moved(address indexed player, uint256 move, uint32 moves);
    event RewardClaimed(address indexed player, uint32 rewards);

    error InvalidMove();
    error NothingToClaim();

    function makeMove(uint256 move) external {
        if (move == 0) revert InvalidMove();
        PlayerState storage state = _players[msg.sender];
        uint32 moves = state.moves + 1;
        state.moves = moves;
        state.unclaimedMoves += 1;
        state.lastMove = move;
        totalMoves += 1;
        emit Moved(msg.sender, move, moves);
    }

    function claimReward() external returns (uint32 rewards) {
        PlayerState storage state = _players[msg.sender];
        if (state.unclaimedMoves < MOVES_PER_REWARD) revert NothingToClaim();
        state.unclaimedMoves -= MOVES_PER_REWARD;
        rewards = state.rewards + 1;
        state.rewards = rewards;
        emit RewardClaimed(msg.sender, rewards);
    }

    function getPlayer(address player) external view returns (PlayerState memory) {
        return _players[player];
    }
}
