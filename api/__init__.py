"""scenestate api."""
