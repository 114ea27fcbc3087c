"""Collection: run a folder of images through a provider with retries, rate limits and a resumable journal."""
