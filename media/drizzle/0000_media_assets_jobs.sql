CREATE TABLE "media_assets" (
	"id" text PRIMARY KEY NOT NULL,
	"title_id" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"progress" real,
	"eta_s" integer,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"source_key" text NOT NULL,
	"root" text NOT NULL,
	"filename" text,
	"lang" text,
	"uploaded_by" text,
	"duration_s" real,
	"width" integer,
	"height" integer,
	"rungs" jsonb,
	"encrypted" boolean DEFAULT false NOT NULL,
	"key" "bytea",
	"ffmpeg" text,
	"ffmpeg_version" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	CONSTRAINT "media_assets_kind" CHECK ("media_assets"."kind" in ('film', 'trailer', 'poster', 'captions')),
	CONSTRAINT "media_assets_status" CHECK ("media_assets"."status" in ('uploaded', 'queued', 'transcoding', 'ready', 'failed')),
	CONSTRAINT "media_assets_key" CHECK ("media_assets"."key" is null or length("media_assets"."key") = 16)
);
--> statement-breakpoint
CREATE TABLE "media_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"asset_id" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 4 NOT NULL,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "media_jobs_asset_id_unique" UNIQUE("asset_id"),
	CONSTRAINT "media_jobs_status" CHECK ("media_jobs"."status" in ('queued', 'running', 'done', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "media_jobs" ADD CONSTRAINT "media_jobs_asset_id_media_assets_id_fk" FOREIGN KEY ("asset_id") REFERENCES "public"."media_assets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "media_assets_title_kind" ON "media_assets" USING btree ("title_id","kind","created_at");--> statement-breakpoint
CREATE INDEX "media_jobs_due" ON "media_jobs" USING btree ("status","run_after");