CREATE TABLE "title_revisions" (
	"id" text PRIMARY KEY NOT NULL,
	"title_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"draft" jsonb NOT NULL,
	"submitted_by" text NOT NULL,
	"submitted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"review_note" text,
	CONSTRAINT "title_revisions_status_check" CHECK ("title_revisions"."status" in ('pending','approved','sent_back','discarded'))
);
--> statement-breakpoint
ALTER TABLE "local_checkout_sessions" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "title_revisions" ADD CONSTRAINT "title_revisions_title_id_titles_id_fk" FOREIGN KEY ("title_id") REFERENCES "public"."titles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "title_revisions_pending_idx" ON "title_revisions" USING btree ("title_id") WHERE "title_revisions"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "title_revisions_title_idx" ON "title_revisions" USING btree ("title_id","submitted_at");