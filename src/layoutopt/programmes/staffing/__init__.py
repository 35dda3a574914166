"""Teacher staffing after the plan (师资配置): posts, redeployment, recruitment."""
