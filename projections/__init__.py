"""scenestate projections."""
