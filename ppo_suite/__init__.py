"""ppo_suite: PPO fine-tuning of language models with LoRA/QLoRA and pluggable rewards."""
