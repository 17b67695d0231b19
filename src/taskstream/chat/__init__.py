"""The chat assistant: tools over the task use cases, planners that choose them."""
