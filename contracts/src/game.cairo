//! A small demo game for session keys: players make moves and, every three moves, claim
//! a reward. Everything is keyed by the caller, so a session scoped to `make_move` and
//! `claim_reward` on this contract can play for its account and do nothing else.

use starknet::ContractAddress;

/// Moves needed per reward.
pub const MOVES_PER_REWARD: u32 = 3;

#[derive(Drop, Copy, Serde, Debug, PartialEq, starknet::Store)]
pub struct PlayerState {
    pub moves: u32,
    pub last_move: felt252,
    pub unclaimed_moves: u32,
    pub rewards: u32,
}

#[starknet::interface]
pub trait IGame<TState> {
    fn make_move(ref self: TState, move: felt252);
    fn claim_reward(ref self: TState) -> u32;
    fn get_player(self: @TState, player: ContractAddress) -> PlayerState;
    fn get_total_moves(self: @TState) -> u64;
}

#[starknet::contract]
pub mod Game {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};
    use super::{IGame, MOVES_PER_REWARD, PlayerState};

    #[storage]
    struct Storage {
        players: Map<ContractAddress, PlayerState>,
        total_moves: u64,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Moved: Moved,
        RewardClaimed: RewardClaimed,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Moved {
        #[key]
        pub player: ContractAddress,
        pub move: felt252,
        pub moves: u32,
    }

    #[derive(Drop, starknet::Event)]
    pub struct RewardClaimed {
        #[key]
        pub player: ContractAddress,
        pub rewards: u32,
    }

    #[abi(embed_v0)]
    impl GameImpl of IGame<ContractState> {
        fn make_move(ref self: ContractState, move: felt252) {
            assert(move != 0, 'Game: invalid move');
            let player = get_caller_address();
            let mut state = self.players.read(player);
            state.moves += 1;
            state.last_move = move;
            state.unclaimed_moves += 1;
            self.players.write(player, state);
            self.total_moves.write(self.total_moves.read() + 1);
            self.emit(Moved { player, move, moves: state.moves });
        }

        fn claim_reward(ref self: ContractState) -> u32 {
            let player = get_caller_address();
            let mut state = self.players.read(player);
            assert(state.unclaimed_moves >= MOVES_PER_REWARD, 'Game: nothing to claim');
            state.unclaimed_moves -= MOVES_PER_REWARD;
            state.rewards += 1;
            self.players.write(player, state);
            self.emit(RewardClaimed { player, rewards: state.rewards });
            state.rewards
        }

        fn get_player(self: @ContractState, player: ContractAddress) -> PlayerState {
            self.players.read(player)
        }

        fn get_total_moves(self: @ContractState) -> u64 {
            self.total_moves.read()
        }
    }
}
