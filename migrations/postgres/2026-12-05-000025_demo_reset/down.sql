DROP TABLE core_demo_reset;
